//go:build !linux

package graphsdk_test

import "syscall"

// serverSysProcAttr has no parent-death signal to offer outside Linux; the
// test's cleanup is then the only thing that stops the server.
func serverSysProcAttr() *syscall.SysProcAttr {
	return nil
}
