module wasio.bench/mandelbrot-go

go 1.23
