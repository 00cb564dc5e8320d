package kubetest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
)

// adminUser is the identity behind the static token. system:masters is
// always authorized by kube-apiserver (ahead of RBAC), so the harness can do
// anything regardless of the bootstrap RBAC policy.
const (
	adminUser  = "kubetest-admin"
	adminGroup = "system:masters"
)

// credentials are the files kube-apiserver needs for authentication and
// service-account token signing, all generated fresh for each cluster.
type credentials struct {
	token     string // bearer token of adminUser
	tokenFile string // --token-auth-file
	saKey     string // --service-account-signing-key-file (RSA private key)
	saPub     string // --service-account-key-file (its public key)
}

func writeCredentials(dir string) (credentials, error) {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return credentials{}, err
	}
	c := credentials{
		token:     hex.EncodeToString(raw),
		tokenFile: filepath.Join(dir, "tokens.csv"),
		saKey:     filepath.Join(dir, "sa.key"),
		saPub:     filepath.Join(dir, "sa.pub"),
	}
	// Format: token,user,uid,"group1,group2".
	line := fmt.Sprintf("%s,%s,%s,%q\n", c.token, adminUser, adminUser, adminGroup)
	if err := os.WriteFile(c.tokenFile, []byte(line), 0o600); err != nil {
		return credentials{}, err
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return credentials{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return credentials{}, err
	}
	if err := writePEM(c.saKey, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)); err != nil {
		return credentials{}, err
	}
	if err := writePEM(c.saPub, "PUBLIC KEY", pub); err != nil {
		return credentials{}, err
	}
	return c, nil
}

func writePEM(path, blockType string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600)
}
