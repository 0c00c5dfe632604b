module wasio.test/wasio_echo_go

go 1.23
