# memmgr: the first process (pager, loader, name service, supervisor).
