module wasio.bench/fibonacci-go

go 1.23
