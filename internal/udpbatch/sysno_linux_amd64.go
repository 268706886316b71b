package udpbatch

const sysSendmmsg = 307 // sendmmsg(2), missing from package syscall on amd64
