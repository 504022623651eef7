# fat: the FAT32 file system server (the core is IPC-free: see fat.h).
