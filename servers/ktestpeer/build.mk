# ktestpeer: the partner process of ktest (serves the test interface).
