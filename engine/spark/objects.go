package spark

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/storage"
)

// objectLocation is where Spark reads a landing object in place (Spark
// reads the lake's stores itself; nothing is copied through medallion's
// file cache): a local-only object's path, or sparkURL of its store and
// key.
func objectLocation(o engine.Object) (string, error) {
	if o.Store == nil {
		if o.Local == "" {
			return "", fmt.Errorf("spark: an object with neither a store nor a local path")
		}
		return o.Local, nil
	}
	return sparkURL(o.Store, o.Key)
}

// sparkURL is where Spark reaches key of store (key "" is the store's
// root, a table's folder): a local path for a local store (the Spark
// server must see the same disk), otherwise the URL in the scheme of
// Spark's Hadoop file systems — s3:// becomes s3a://, az:// and azblob://
// become abfss://container@ACCOUNT.dfs.core.windows.net/…, and abfss://,
// abfs:// (plain HTTP: an emulator's), s3a:// and gs:// stay as they are.
// A store Spark cannot reach (mem://) is an error naming the URL.
func sparkURL(store *storage.Store, key string) (string, error) {
	if p, ok := store.LocalPath(key); ok {
		if key == "" {
			p = strings.TrimSuffix(p, "/")
		}
		return p, nil
	}
	raw := strings.TrimSuffix(store.URL(), "/")
	if key != "" {
		raw += "/" + key
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("spark: %s: %w", raw, err)
	}
	switch u.Scheme {
	case "abfss", "abfs", "s3a", "gs":
		return raw, nil
	case "s3":
		return "s3a://" + strings.TrimPrefix(raw, "s3://"), nil
	case "az", "azblob":
		container, account := u.Host, ""
		if u.User != nil {
			container = u.User.Username()
			account, _, _ = strings.Cut(u.Hostname(), ".")
		}
		if account == "" {
			account = strings.TrimSpace(os.Getenv("AZURE_STORAGE_ACCOUNT"))
		}
		if account == "" {
			account = strings.TrimSpace(os.Getenv("AZURE_STORAGE_ACCOUNT_NAME"))
		}
		if account == "" {
			return "", fmt.Errorf("spark: %s: the storage account is not in the URL nor in AZURE_STORAGE_ACCOUNT: write abfss://container@ACCOUNT.dfs.core.windows.net/path", raw)
		}
		return "abfss://" + container + "@" + account + ".dfs.core.windows.net" + u.EscapedPath(), nil
	}
	return "", fmt.Errorf("spark: %s: Spark cannot read %s:// objects in place", raw, u.Scheme)
}
