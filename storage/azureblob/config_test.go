package azureblob

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

// These tests need no Azurite: they check URL parsing and how options
// and the environment resolve to an endpoint and a credential.

func TestParseLocation(t *testing.T) {
	tests := []struct {
		url                              string
		account, container, root, suffix string
	}{
		{"abfss://lake@acct.dfs.core.windows.net/path/to/root", "acct", "lake", "path/to/root/", "core.windows.net"},
		{"abfs://lake@devstoreaccount1.dfs.core.windows.net/lake", "devstoreaccount1", "lake", "lake/", "core.windows.net"},
		{"abfss://lake@acct.dfs.core.windows.net", "acct", "lake", "", "core.windows.net"},
		{"abfss://lake@acct.dfs.core.windows.net/", "acct", "lake", "", "core.windows.net"},
		{"abfss://lake@ACCT.dfs.core.chinacloudapi.cn/x/", "acct", "lake", "x/", "core.chinacloudapi.cn"},
		{"abfss://lake@acct.blob.core.windows.net/x", "acct", "lake", "x/", "core.windows.net"},
		{"az://lake/tables/orders", "", "lake", "tables/orders/", ""},
		{"az://lake", "", "lake", "", ""},
		{"az://lake@acct.blob.core.windows.net/t", "acct", "lake", "t/", "core.windows.net"},
		{"azblob://my-container/a%20b/c", "", "my-container", "a b/c/", ""},
		{"az://$root/x", "", "$root", "x/", ""},
	}
	for _, tc := range tests {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		loc, err := parseLocation(u)
		if err != nil {
			t.Errorf("parseLocation(%s): %v", tc.url, err)
			continue
		}
		want := location{tc.account, tc.container, tc.root, tc.suffix}
		if loc != want {
			t.Errorf("parseLocation(%s) = %+v, want %+v", tc.url, loc, want)
		}
	}
}

func TestParseLocationErrors(t *testing.T) {
	tests := []struct{ url, want string }{
		{"abfss://acct.dfs.core.windows.net/path", "without a container"},
		{"abfs://acct.dfs.core.windows.net/path", "abfs URL without a container"},
		{"abfss://lake@localhost/path", "not a storage account host"},
		{"abfss://lake@acct.queue.core.windows.net/path", "not a storage account host"},
		{"abfss://lake:secret@acct.dfs.core.windows.net/path", "must not contain a password"},
		{"az:///path", "without a container"},
		{"az://Lake/path", "invalid container name"},
		{"az://a/path", "invalid container name"},
		{"az://lake_x/path", "invalid container name"},
		{"az://lake/a/../b", "not a clean path"},
		{"az://lake/a//b", "not a clean path"},
		{"az://lake/a?sv=2020&sig=SECRETSIG", "put a SAS token in AZURE_STORAGE_SAS_TOKEN"},
		{"az://lake:10000/a", "unexpected port"},
		{"az://lake/a#frag", "fragments"},
	}
	for _, tc := range tests {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		_, err = parseLocation(u)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseLocation(%s) = %v, want an error containing %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "SECRETSIG") {
			t.Errorf("parseLocation(%s) error reveals the query: %v", tc.url, err)
		}
	}
}

func TestParseConnString(t *testing.T) {
	tests := []struct {
		in   string
		want connString
	}{
		{
			"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net",
			connString{account: "acct", key: "a2V5", endpoint: "https://acct.blob.core.windows.net"},
		},
		{
			"AccountName=acct;AccountKey=a2V5==;",
			connString{account: "acct", key: "a2V5==", endpoint: "https://acct.blob.core.windows.net"},
		},
		{
			azuriteConnStr,
			connString{account: devAccount, key: devKey, endpoint: azuriteEndpoint},
		},
		{
			"BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=?sv=2022&sig=abc",
			connString{sas: "sv=2022&sig=abc", endpoint: "https://acct.blob.core.windows.net"},
		},
		{
			"UseDevelopmentStorage=true", // Azurite's default port, whatever the tests use
			connString{account: devAccount, key: devKey, endpoint: "http://127.0.0.1:10000/" + devAccount},
		},
	}
	for _, tc := range tests {
		got, err := parseConnString(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseConnString(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "AccountName=acct", "AccountKey=SECRETKEY", "junk;AccountKey=SECRETKEY", "BlobEndpoint=http://x;AccountKey=SECRETKEY"} {
		_, err := parseConnString(bad)
		if err == nil {
			t.Errorf("parseConnString(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "SECRETKEY") {
			t.Errorf("parseConnString error reveals the key: %v", err)
		}
	}
}

func TestResolve(t *testing.T) {
	key := wrongKey()
	abfss := "abfss://lake@acct.dfs.core.windows.net/root"
	tests := []struct {
		name, url  string
		opts       Options
		endpoint   string
		kind       credKind
		account    string
		wantInDesc string
	}{
		{"connection string", "az://lake/x", Options{ConnectionString: "AccountName=acct;AccountKey=" + key},
			"https://acct.blob.core.windows.net", credSharedKey, "acct", "Options.ConnectionString"},
		{"connection string for the URL's account", abfss, Options{ConnectionString: "AccountName=acct;AccountKey=" + key + ";EndpointSuffix=core.windows.net"},
			"https://acct.blob.core.windows.net", credSharedKey, "acct", "connection string"},
		{"connection string of another account falls through to the key", abfss, Options{ConnectionString: "AccountName=other;AccountKey=" + key, AccountKey: key},
			"https://acct.blob.core.windows.net", credSharedKey, "acct", "Options.AccountKey"},
		{"Azurite by connection string, abfss URL", "abfss://lake@" + devAccount + ".dfs.core.windows.net/r", Options{ConnectionString: azuriteConnStr},
			azuriteEndpoint, credSharedKey, devAccount, "connection string"},
		{"key with account from options", "az://lake/x", Options{AccountName: "acct", AccountKey: key},
			"https://acct.blob.core.windows.net", credSharedKey, "acct", "Options.AccountKey"},
		{"key of another account is not used", abfss, Options{AccountName: "other", AccountKey: key},
			"https://acct.blob.core.windows.net", credDefault, "acct", "DefaultAzureCredential"},
		{"SAS", abfss, Options{SASToken: "?sv=2022&sig=abc"},
			"https://acct.blob.core.windows.net", credSAS, "acct", "Options.SASToken"},
		{"key before SAS", abfss, Options{AccountKey: key, SASToken: "sv=2022&sig=abc"},
			"https://acct.blob.core.windows.net", credSharedKey, "acct", "Options.AccountKey"},
		{"default chain", abfss, Options{},
			"https://acct.blob.core.windows.net", credDefault, "acct", "DefaultAzureCredential"},
		{"sovereign cloud", "abfss://lake@acct.dfs.core.usgovcloudapi.net/", Options{},
			"https://acct.blob.core.usgovcloudapi.net", credDefault, "acct", "DefaultAzureCredential"},
		{"endpoint override", "az://lake/x", Options{AccountName: devAccount, AccountKey: key, Endpoint: azuriteEndpoint + "/"},
			azuriteEndpoint, credSharedKey, devAccount, "Options.AccountKey"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := url.Parse(tc.url)
			loc, err := parseLocation(u)
			if err != nil {
				t.Fatal(err)
			}
			c, err := resolve(loc, &tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.endpoint != tc.endpoint || c.kind != tc.kind || c.account != tc.account || !strings.Contains(c.credDesc, tc.wantInDesc) {
				t.Errorf("resolve = endpoint %s, kind %d, account %s, credential %q; want %s, %d, %s, one naming %q",
					c.endpoint, c.kind, c.account, c.credDesc, tc.endpoint, tc.kind, tc.account, tc.wantInDesc)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	for _, tc := range []struct {
		url  string
		opts Options
		want string
	}{
		{"az://lake/x", Options{}, "no storage account"},
		{"az://lake/x", Options{AccountName: "acct", Endpoint: "http://127.0.0.1:10000/acct"}, "need an https endpoint"},
		{"az://lake/x", Options{AccountName: "acct", AccountKey: "k", Endpoint: "ftp://x"}, "invalid blob endpoint"},
	} {
		u, _ := url.Parse(tc.url)
		loc, err := parseLocation(u)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := resolve(loc, &tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("resolve(%s, %+v) = %v, want an error containing %q", tc.url, tc.opts, err, tc.want)
		}
	}
}

func TestOptionsFromEnv(t *testing.T) {
	t.Setenv(EnvConnectionString, "")
	t.Setenv(EnvAccount, "")
	t.Setenv(EnvAccountName, "fromname")
	t.Setenv(EnvKey, " "+wrongKey()+" ")
	t.Setenv(EnvSASToken, "")
	t.Setenv(EnvEndpoint, "")
	o := OptionsFromEnv()
	if o.AccountName != "fromname" || o.AccountKey != wrongKey() {
		t.Errorf("OptionsFromEnv = account %q, key trimmed %v", o.AccountName, o.AccountKey == wrongKey())
	}
	u, _ := url.Parse("az://lake/x")
	d, err := newDriver(context.Background(), u, o, hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if d.cfg.account != "fromname" || !strings.Contains(d.cfg.credDesc, EnvKey) {
		t.Errorf("driver from env: account %q, credential %q", d.cfg.account, d.cfg.credDesc)
	}
}
