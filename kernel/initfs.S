/* The boot servers, packed by tools/mkinitfs.py, linked into the kernel. */
.section .initfs, "a"
.incbin INITFS_PATH
