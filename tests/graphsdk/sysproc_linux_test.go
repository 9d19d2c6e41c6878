package graphsdk_test

import (
	"syscall"
)

// serverSysProcAttr makes the kernel kill the server if the test binary dies
// without running its cleanups (a -timeout panic does exactly that).
func serverSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
