module wasio.example/hello_world

go 1.23
