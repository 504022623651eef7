# shell: the command shell on the console (docs/shell.md).
