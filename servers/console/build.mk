# console: COM1 serial and PS/2 keyboard in, serial and VGA text out (docs/console.md).
