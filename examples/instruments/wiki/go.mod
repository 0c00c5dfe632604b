module wasio.example/wiki

go 1.23
