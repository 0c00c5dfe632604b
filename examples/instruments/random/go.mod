module wasio.example/random

go 1.23
