# fsbench: file-system throughput (make bench).
