package gitsource

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
)

// SSH signatures in the sshsig format (OpenSSH's PROTOCOL.sshsig), which `git commit -S` writes
// with gpg.format=ssh and `ssh-keygen -Y verify` checks. x/crypto/ssh verifies the raw
// signature; the envelope is small enough to read here.

const (
	sshSigArmorStart = "-----BEGIN SSH SIGNATURE-----"
	sshSigMagic      = "SSHSIG"
	// sshSigNamespace is the namespace git signs commits in.
	sshSigNamespace = "git"
)

// allowedSigner is one line of an allowed signers file.
type allowedSigner struct {
	principals string
	key        ssh.PublicKey
	namespaces []string // nil: any namespace
}

// parseAllowedSigners reads an SSH allowed signers file as git's gpg.ssh.allowedSignersFile
// takes it (ssh-keygen(1), ALLOWED SIGNERS): one `principals [options] key-type base64-key
// [comment]` line per key; blank lines and lines starting with # are skipped. Of the options,
// namespaces="git,..." is honoured (a key whose namespaces leave out git cannot sign commits);
// cert-authority, valid-after and valid-before are refused, since stagegate does not check them.
// Errors name the line.
func parseAllowedSigners(data []byte) ([]allowedSigner, error) {
	var out []allowedSigner
	var errs []error
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseAllowedSigner(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("allowed signers line %d: %w", i+1, err))
			continue
		}
		out = append(out, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(out) == 0 {
		return nil, errors.New("allowed signers: no signer in it; add lines like `alice@example.com ssh-ed25519 AAAA…`")
	}
	return out, nil
}

func parseAllowedSigner(line string) (allowedSigner, error) {
	var principals, rest string
	if strings.HasPrefix(line, `"`) {
		end := strings.Index(line[1:], `"`)
		if end < 0 {
			return allowedSigner{}, errors.New("unterminated quoted principals")
		}
		principals, rest = line[1:end+1], line[end+2:]
	} else {
		principals, rest, _ = strings.Cut(line, " ")
		if i := strings.IndexByte(principals, '\t'); i >= 0 {
			principals, rest = principals[:i], principals[i+1:]+" "+rest
		}
	}
	if principals == "" || strings.TrimSpace(rest) == "" {
		return allowedSigner{}, errors.New("want `principals [options] key-type base64-key`")
	}
	key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(strings.TrimSpace(rest)))
	if err != nil {
		return allowedSigner{}, fmt.Errorf("want `principals [options] key-type base64-key`: %v", err)
	}
	s := allowedSigner{principals: principals, key: key}
	for _, o := range options {
		name, value, _ := strings.Cut(o, "=")
		switch strings.ToLower(name) {
		case "namespaces":
			s.namespaces = strings.Split(strings.Trim(value, `"`), ",")
		case "cert-authority", "valid-after", "valid-before":
			return allowedSigner{}, fmt.Errorf("option %s is not supported by stagegate; list the signing keys themselves, without it", name)
		default:
			return allowedSigner{}, fmt.Errorf("unknown option %q", name)
		}
	}
	return s, nil
}

// sshSignature is the sshsig envelope.
type sshSignature struct {
	Magic     [6]byte
	Version   uint32
	PublicKey []byte
	Namespace string
	Reserved  []byte
	HashAlg   string
	Signature []byte
}

// sshSignedData is what the signature is computed over.
type sshSignedData struct {
	Magic     [6]byte
	Namespace string
	Reserved  []byte
	HashAlg   string
	Hash      []byte
}

func (k *Keyring) verifySSH(payload []byte, armored string) Verification {
	v := Verification{Kind: SignatureSSH}
	block, _ := pem.Decode([]byte(armored))
	if block == nil || block.Type != "SSH SIGNATURE" {
		return bad(v, "unreadable SSH signature: not an SSH SIGNATURE block")
	}
	var sig sshSignature
	if err := ssh.Unmarshal(block.Bytes, &sig); err != nil {
		return bad(v, "unreadable SSH signature: %v", err)
	}
	if string(sig.Magic[:]) != sshSigMagic || sig.Version != 1 {
		return bad(v, "unreadable SSH signature: not an sshsig version 1 envelope")
	}
	pub, err := ssh.ParsePublicKey(sig.PublicKey)
	if err != nil {
		return bad(v, "unreadable SSH signature: its public key: %v", err)
	}
	v.KeyID = ssh.FingerprintSHA256(pub)
	if sig.Namespace != sshSigNamespace {
		return bad(v, "SSH signature by %s is for namespace %q, not git's %q", v.KeyID, sig.Namespace, sshSigNamespace)
	}
	var h hash.Hash
	switch sig.HashAlg {
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return bad(v, "SSH signature by %s uses unknown hash %q", v.KeyID, sig.HashAlg)
	}
	h.Write(payload)
	signed := ssh.Marshal(sshSignedData{Magic: sig.Magic, Namespace: sig.Namespace, Reserved: sig.Reserved, HashAlg: sig.HashAlg, Hash: h.Sum(nil)})
	var raw ssh.Signature
	if err := ssh.Unmarshal(sig.Signature, &raw); err != nil {
		return bad(v, "unreadable SSH signature: %v", err)
	}

	if raw.Format == ssh.KeyAlgoRSA {
		// SHA-1 RSA signatures are refused by OpenSSH in this format too.
		return bad(v, "SSH signature by %s uses ssh-rsa (SHA-1); sign with rsa-sha2-512 or an ed25519 key", v.KeyID)
	}
	var signer *allowedSigner
	if k != nil {
		for i, s := range k.ssh {
			if bytes.Equal(s.key.Marshal(), pub.Marshal()) && (s.namespaces == nil || slices.Contains(s.namespaces, sshSigNamespace)) {
				signer = &k.ssh[i]
				break
			}
		}
	}
	if signer == nil {
		v.Status = UnknownSigner
		v.Reason = "signed by SSH key " + v.KeyID + ", which is not an allowed signer for git"
		return v
	}
	if err := pub.Verify(signed, &raw); err != nil {
		return bad(v, "SSH signature by %s does not verify: %v", v.KeyID, err)
	}
	v.Status, v.Signer = Verified, signer.principals
	return v
}

// SSHSignature signs payload in the sshsig format, namespace git, as `git commit -S` with
// gpg.format=ssh does; tests use it to make SSH-signed commits without ssh-keygen.
func SSHSignature(signer ssh.Signer, payload []byte) (string, error) {
	h := sha512.Sum512(payload)
	var magic [6]byte
	copy(magic[:], sshSigMagic)
	signed := ssh.Marshal(sshSignedData{Magic: magic, Namespace: sshSigNamespace, HashAlg: "sha512", Hash: h[:]})
	s, err := signer.Sign(nil, signed)
	if err != nil {
		return "", err
	}
	env := ssh.Marshal(sshSignature{Magic: magic, Version: 1, PublicKey: signer.PublicKey().Marshal(),
		Namespace: sshSigNamespace, HashAlg: "sha512", Signature: ssh.Marshal(s)})
	b64 := base64.StdEncoding.EncodeToString(env)
	var out strings.Builder
	out.WriteString(sshSigArmorStart + "\n")
	for len(b64) > 70 {
		out.WriteString(b64[:70] + "\n")
		b64 = b64[70:]
	}
	out.WriteString(b64 + "\n-----END SSH SIGNATURE-----\n")
	return out.String(), nil
}
