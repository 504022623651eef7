# ubsantest: undefined behaviour on purpose, for the UBSan runtime's test.
