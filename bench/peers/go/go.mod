// bench/peers/go: go_bench_macro, troupe's macro benchmarks written in Go (standard library
// only: nothing is downloaded to build it). Built by CMake (CMakeLists.txt here) when `go`
// is found.
module troupe/bench/peers/go

go 1.18
