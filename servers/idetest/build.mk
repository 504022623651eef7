# idetest: the in-guest test of the disk drivers over blk (run idetest; tests/system/test_ide.py, test_ahci.py).
