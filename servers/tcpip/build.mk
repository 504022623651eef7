# tcpip: Ethernet/ARP/IPv4/ICMP/UDP/DHCP/TCP (the core is IPC-free: see net.h, docs/tcpip.md).
