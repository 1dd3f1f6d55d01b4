package azureblob

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/medallionhq/medallion/storage"
)

// Environment variables read by OptionsFromEnv.
const (
	EnvConnectionString = "AZURE_STORAGE_CONNECTION_STRING"
	EnvAccount          = "AZURE_STORAGE_ACCOUNT"
	EnvAccountName      = "AZURE_STORAGE_ACCOUNT_NAME" // the name object_store and adlfs read
	EnvKey              = "AZURE_STORAGE_KEY"
	EnvSASToken         = "AZURE_STORAGE_SAS_TOKEN"
	EnvEndpoint         = "AZURE_STORAGE_ENDPOINT"
)

// Azurite's well-known development account, used for the connection string
// "UseDevelopmentStorage=true".
const (
	devAccount  = "devstoreaccount1"
	devKey      = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	devEndpoint = "http://127.0.0.1:10000/devstoreaccount1"
)

// Options say how to reach a storage account. The zero value means the
// default Azure credential chain against https://ACCOUNT.blob.core.windows.net.
//
// Credentials are tried in this order: ConnectionString, AccountKey,
// SASToken, Credential, and finally azidentity's DefaultAzureCredential
// (environment, workload identity, managed identity, Azure CLI, Azure
// Developer CLI).
type Options struct {
	// ConnectionString is a storage connection string as the portal shows
	// it ("DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;
	// EndpointSuffix=core.windows.net"), one with BlobEndpoint= (Azurite:
	// "...;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"), one
	// with SharedAccessSignature=, or "UseDevelopmentStorage=true". It is
	// ignored for URLs that name a different account.
	ConnectionString string
	// AccountName is the account for URLs that do not name one
	// (az://container/path), and the account AccountKey belongs to.
	AccountName string
	// AccountKey is a shared key (key1 or key2) of AccountName, or of the
	// URL's account when AccountName is empty.
	AccountKey string
	// SASToken is a shared access signature, with or without a leading "?".
	SASToken string
	// Credential is a Microsoft Entra ID credential to use instead of
	// DefaultAzureCredential.
	Credential azcore.TokenCredential
	// Endpoint overrides the blob service endpoint, for example
	// "http://127.0.0.1:10000/devstoreaccount1" for Azurite.
	Endpoint string

	// sources name where each setting came from, for error messages.
	connSource, keySource, sasSource, accountSource string
}

// OptionsFromEnv returns the options the environment gives: the connection
// string from AZURE_STORAGE_CONNECTION_STRING, the account from
// AZURE_STORAGE_ACCOUNT (or AZURE_STORAGE_ACCOUNT_NAME), its key from
// AZURE_STORAGE_KEY, a SAS token from AZURE_STORAGE_SAS_TOKEN and an
// endpoint override from AZURE_STORAGE_ENDPOINT. The Entra ID variables
// (AZURE_TENANT_ID, AZURE_CLIENT_ID, ...) are read by DefaultAzureCredential
// when none of these credentials is set.
func OptionsFromEnv() *Options {
	o := &Options{
		ConnectionString: strings.TrimSpace(os.Getenv(EnvConnectionString)),
		AccountName:      strings.TrimSpace(os.Getenv(EnvAccount)),
		AccountKey:       strings.TrimSpace(os.Getenv(EnvKey)),
		SASToken:         strings.TrimSpace(os.Getenv(EnvSASToken)),
		Endpoint:         strings.TrimSpace(os.Getenv(EnvEndpoint)),
		connSource:       EnvConnectionString,
		keySource:        EnvKey,
		sasSource:        EnvSASToken,
		accountSource:    EnvAccount,
	}
	if o.AccountName == "" {
		o.AccountName = strings.TrimSpace(os.Getenv(EnvAccountName))
		o.accountSource = EnvAccountName
	}
	return o
}

// source returns s, or the name of the Options field when s is empty (for
// options built in code).
func source(s, field string) string {
	if s != "" {
		return s
	}
	return "Options." + field
}

// location is what a URL names.
type location struct {
	account   string // "" when the URL does not name one
	container string
	root      string // "" or a clean key prefix ending in "/"
	suffix    string // endpoint suffix from an abfss host, such as "core.windows.net"
}

// parseLocation reads abfss://container@account.dfs.core.windows.net/path,
// az://container/path, azblob://container/path (and the container@host form
// for az and azblob too).
func parseLocation(u *url.URL) (location, error) {
	var loc location
	if u.Opaque != "" {
		return loc, fmt.Errorf("malformed URL: write %s://container/path", u.Scheme)
	}
	if u.RawQuery != "" || u.ForceQuery {
		// Never echo the query: it may hold a SAS token.
		return loc, fmt.Errorf("query parameters are not supported in %s URLs: put a SAS token in %s", u.Scheme, EnvSASToken)
	}
	if u.Fragment != "" {
		return loc, errors.New("URL fragments (#...) are not supported")
	}
	if u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword {
			return loc, errors.New("URL must not contain a password: use a connection string, AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN")
		}
		loc.container = u.User.Username()
		host := strings.ToLower(u.Hostname())
		account, rest, ok := strings.Cut(host, ".")
		if !ok || account == "" {
			return loc, fmt.Errorf("host %q is not a storage account host: write %s://container@ACCOUNT.dfs.core.windows.net/path", host, u.Scheme)
		}
		service, suffix, _ := strings.Cut(rest, ".")
		if (service != "dfs" && service != "blob") || suffix == "" {
			return loc, fmt.Errorf("host %q is not a storage account host: write %s://container@%s.dfs.core.windows.net/path", host, u.Scheme, account)
		}
		loc.account, loc.suffix = account, suffix
	} else {
		if u.Scheme == "abfss" || u.Scheme == "abfs" {
			return loc, fmt.Errorf("%s URL without a container: write %s://container@ACCOUNT.dfs.core.windows.net/path", u.Scheme, u.Scheme)
		}
		if u.Port() != "" {
			return loc, fmt.Errorf("unexpected port in %s URL: write %s://container/path (set %s for a custom endpoint)", u.Scheme, u.Scheme, EnvEndpoint)
		}
		loc.container = u.Host
	}
	if loc.container == "" {
		return loc, fmt.Errorf("%s URL without a container: write %s://container/path", u.Scheme, u.Scheme)
	}
	if err := checkContainerName(loc.container); err != nil {
		return loc, err
	}
	if root := strings.Trim(u.Path, "/"); root != "" {
		if err := storage.ValidateKey(root); err != nil {
			return loc, fmt.Errorf("path %q is not a clean path inside the container (no empty, \".\" or \"..\" elements)", root)
		}
		loc.root = root + "/"
	}
	return loc, nil
}

// checkContainerName applies Azure's rules: 3 to 63 lowercase letters,
// digits and single hyphens, starting and ending with a letter or digit
// ($root and $web are special containers).
func checkContainerName(name string) error {
	if name == "$root" || name == "$web" || name == "$logs" {
		return nil
	}
	bad := len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' || strings.Contains(name, "--")
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("invalid container name %q: use 3 to 63 lowercase letters, digits and hyphens", name)
	}
	return nil
}

// connString is a parsed storage connection string.
type connString struct {
	account, key, sas, endpoint string
}

// parseConnString reads a connection string. Its errors never quote the
// string, which holds a secret.
func parseConnString(s string) (connString, error) {
	var cs connString
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimSpace(s), ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return cs, errors.New("malformed connection string: expected Key=Value pairs separated by ';'")
		}
		fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if strings.EqualFold(fields["usedevelopmentstorage"], "true") {
		cs = connString{account: devAccount, key: devKey, endpoint: devEndpoint}
		if p := fields["developmentstorageproxyuri"]; p != "" {
			cs.endpoint = strings.TrimSuffix(p, "/") + "/" + devAccount
		}
		return cs, nil
	}
	cs.account = fields["accountname"]
	cs.key = fields["accountkey"]
	cs.sas = strings.TrimPrefix(fields["sharedaccesssignature"], "?")
	cs.endpoint = strings.TrimSuffix(fields["blobendpoint"], "/")
	if cs.endpoint == "" {
		if cs.account == "" {
			return cs, errors.New("connection string has neither AccountName nor BlobEndpoint")
		}
		protocol := fields["defaultendpointsprotocol"]
		if protocol == "" {
			protocol = "https"
		}
		suffix := fields["endpointsuffix"]
		if suffix == "" {
			suffix = "core.windows.net"
		}
		cs.endpoint = protocol + "://" + cs.account + ".blob." + suffix
	}
	if cs.key == "" && cs.sas == "" {
		return cs, errors.New("connection string has neither AccountKey nor SharedAccessSignature")
	}
	if cs.key != "" && cs.account == "" {
		return cs, errors.New("connection string has an AccountKey but no AccountName")
	}
	return cs, nil
}

// credKind says how requests are authorized.
type credKind int

const (
	credSharedKey credKind = iota
	credSAS
	credToken
	credDefault
)

// config is a fully resolved target: where to send requests and how to
// authorize them.
type config struct {
	location
	endpoint string // blob service URL without query or trailing slash
	kind     credKind
	key      string // credSharedKey
	sas      string // credSAS, without "?"
	token    azcore.TokenCredential
	// credDesc names the credential in use, for error messages, such as
	// "the connection string in AZURE_STORAGE_CONNECTION_STRING".
	credDesc string
	// fixHint says what to check when the credential is rejected.
	fixHint string
	// denyHint says what to check when the credential is accepted but
	// not allowed (HTTP 403 other than AuthenticationFailed).
	denyHint string
	// secrets are strings that must never appear in an error message.
	secrets []string
}

// resolve combines a URL's location with options.
func resolve(loc location, o *Options) (*config, error) {
	c := &config{location: loc}
	if o.ConnectionString != "" {
		src := source(o.connSource, "ConnectionString")
		c.secrets = append(c.secrets, o.ConnectionString)
		cs, err := parseConnString(o.ConnectionString)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", src, err)
		}
		c.secrets = append(c.secrets, cs.key, cs.sas)
		// A connection string for another account does not apply to a URL
		// that names its account.
		if loc.account == "" || cs.account == "" || strings.EqualFold(cs.account, loc.account) {
			if c.account == "" {
				c.account = cs.account
			}
			c.endpoint = cs.endpoint
			if o.Endpoint != "" {
				c.endpoint = o.Endpoint
			}
			if cs.key != "" {
				c.kind, c.key = credSharedKey, cs.key
				c.credDesc = "the account key in the connection string " + src
				c.fixHint = "check the AccountKey in " + src + " (copy the connection string again from the portal's Access keys page)"
			} else {
				c.kind, c.sas = credSAS, cs.sas
				c.credDesc = "the SAS token in the connection string " + src
				c.fixHint = "check the SharedAccessSignature in " + src + ": it may be expired, lack permissions or belong to another account"
			}
			if c.account == "" {
				c.account = accountFromEndpoint(c.endpoint)
			}
			return c.finish()
		}
	}
	if c.account == "" {
		c.account = o.AccountName
	}
	if c.account == "" {
		return nil, fmt.Errorf("no storage account: name it in the URL (abfss://container@ACCOUNT.dfs.core.windows.net/path) or set %s or %s", EnvAccount, EnvConnectionString)
	}
	switch {
	case o.Endpoint != "":
		c.endpoint = o.Endpoint
	case loc.suffix != "":
		c.endpoint = "https://" + c.account + ".blob." + loc.suffix
	default:
		c.endpoint = "https://" + c.account + ".blob.core.windows.net"
	}
	keyApplies := o.AccountName == "" || strings.EqualFold(o.AccountName, c.account)
	switch {
	case o.AccountKey != "" && keyApplies:
		src := source(o.keySource, "AccountKey")
		c.kind, c.key = credSharedKey, o.AccountKey
		c.secrets = append(c.secrets, o.AccountKey)
		c.credDesc = "the account key in " + src
		c.fixHint = fmt.Sprintf("check %s: it must be key1 or key2 of storage account %q", src, c.account)
	case o.SASToken != "":
		src := source(o.sasSource, "SASToken")
		c.kind, c.sas = credSAS, strings.TrimPrefix(o.SASToken, "?")
		c.secrets = append(c.secrets, o.SASToken)
		c.credDesc = "the SAS token in " + src
		c.fixHint = fmt.Sprintf("check %s: it may be expired, lack permissions or belong to another account than %q", src, c.account)
	case o.Credential != nil:
		c.kind, c.token = credToken, o.Credential
		c.credDesc = "the Entra ID credential in Options.Credential"
		c.fixHint = "check that the identity has the Storage Blob Data Contributor role on the account or container"
	default:
		c.kind = credDefault
		c.credDesc = "DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI)"
		c.fixHint = fmt.Sprintf("sign in with `az login`, or set %s, %s or %s", EnvConnectionString, EnvKey, EnvSASToken)
	}
	return c.finish()
}

// finish validates the endpoint and collects derived secrets.
func (c *config) finish() (*config, error) {
	switch c.kind {
	case credSharedKey:
		c.denyHint = c.fixHint + "; if the key is right, the account's firewall may block this network (Networking settings)"
	case credSAS:
		c.denyHint = c.fixHint + " (it needs read, write, delete and list permissions on blobs: sp=rwdl)"
	default:
		c.denyHint = "grant the identity the Storage Blob Data Contributor role on the account or container (Owner and Contributor alone do not give data access)"
	}
	c.endpoint = strings.TrimSuffix(c.endpoint, "/")
	u, err := url.Parse(c.endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		// Do not quote the endpoint: it may come from a connection string.
		return nil, errors.New("invalid blob endpoint: want http(s)://host[:port][/account] without a query")
	}
	if (c.kind == credToken || c.kind == credDefault) && u.Scheme != "https" {
		return nil, fmt.Errorf("credentials from Entra ID need an https endpoint, and %s://%s is not: use a connection string or an account key", u.Scheme, u.Host)
	}
	if c.sas != "" {
		// The signature alone is enough to abuse a token: redact it too,
		// in whatever escaping it appears.
		if q, err := url.ParseQuery(c.sas); err == nil {
			for _, sig := range q["sig"] {
				c.secrets = append(c.secrets, sig, url.QueryEscape(sig), url.PathEscape(sig))
			}
		}
	}
	if c.key != "" {
		c.secrets = append(c.secrets, url.QueryEscape(c.key))
	}
	return c, nil
}

// accountFromEndpoint guesses the account of an endpoint such as
// https://acct.blob.core.windows.net or http://127.0.0.1:10000/acct.
func accountFromEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		first, _, _ := strings.Cut(p, "/")
		return first
	}
	first, _, _ := strings.Cut(u.Hostname(), ".")
	return first
}

// containerURL is the container's URL without any SAS token.
func (c *config) containerURL() string {
	return c.endpoint + "/" + url.PathEscape(c.container)
}
