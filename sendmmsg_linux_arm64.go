package xray

const sysSendmmsg = 269 // sendmmsg(2)
