# ktest: the in-guest test of every system call, payload kind and error path.
