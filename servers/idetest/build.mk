# idetest: the in-guest test of the ide server (run idetest; tests/system/test_ide.py).
