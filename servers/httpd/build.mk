# httpd: the static HTTP/1.1 server (the core is IPC-free: see http.h, docs/httpd.md).
