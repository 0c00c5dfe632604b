module wasio.test/cgi_go

go 1.23
