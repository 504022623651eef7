# benchsrv: the server side of the IPC round-trip benchmark (ipcbench).
