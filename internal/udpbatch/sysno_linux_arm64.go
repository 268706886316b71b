package udpbatch

const sysSendmmsg = 269 // sendmmsg(2)
