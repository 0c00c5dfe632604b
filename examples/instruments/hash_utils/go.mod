module wasio.example/hash_utils

go 1.23
