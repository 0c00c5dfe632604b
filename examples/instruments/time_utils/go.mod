module wasio.example/time_utils

go 1.23
