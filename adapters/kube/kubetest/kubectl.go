package kubetest

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const kubectlTimeout = 2 * time.Minute

// Kubectl runs kubectl against the cluster: bin/kubectl, or kubectl from
// $PATH when it was not built. A non-zero exit is returned as err, with the
// output, rather than failing the test, so tests can assert on failures.
func (c *Cluster) Kubectl(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := requireBinary(t, "kubectl", true)
	// Not t.Context(): that is already cancelled while cleanups run.
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()

	// --cache-dir keeps kubectl's discovery cache out of $HOME.
	full := append([]string{"--kubeconfig=" + c.Kubeconfig, "--cache-dir=" + filepath.Join(c.dir, "kubectl-cache")}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.SysProcAttr = sysProcAttr()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func writeKubeconfig(path string, cfg *rest.Config) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kubetest"] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
	}
	kc.AuthInfos[adminUser] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["kubetest"] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: adminUser}
	kc.CurrentContext = "kubetest"
	return clientcmd.WriteToFile(*kc, path)
}
