# fstest: the in-guest file-system test (random files, checked in guest and on the host).
