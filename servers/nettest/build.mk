# nettest: the in-guest test of the e1000 driver over slirp (run nettest; tests/system/test_e1000.py).
