# isolation: a program with no rights reaches for other processes, the kernel and devices (docs/reliability.md).
