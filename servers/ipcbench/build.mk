# ipcbench: the IPC round-trip benchmark (prints one JSON line).
