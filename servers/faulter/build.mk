# faulter: misbehaves on purpose (ktest checks only it dies).
