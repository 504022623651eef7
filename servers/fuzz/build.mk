# fuzz: seeded random system calls and kernel-server / memmgr requests.
