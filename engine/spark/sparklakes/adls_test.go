package sparklakes_test

import (
	"os"
	"testing"

	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/storage/azureblob"
	"github.com/medallionhq/medallion/storage/azureblob/azuritetest"
)

// needAzurite starts (or shares) Azurite and points this process and the
// medallion processes it starts at its development account and nothing
// else, whatever the environment holds. Without Azurite the test is
// skipped, and fails under CI=true.
func needAzurite(t *testing.T) {
	t.Helper()
	azuritetest.Need(t)
	t.Setenv(azureblob.EnvConnectionString, azuritetest.ConnectionString)
	for _, v := range []string{azureblob.EnvAccount, azureblob.EnvAccountName, azureblob.EnvKey, azureblob.EnvSASToken, azureblob.EnvEndpoint,
		"AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

// TestRunOnSparkOverADLS runs testdata/lake with `medallion run`
// (processes of their own) on engine kind spark with its lake in a
// container of Azurite's development account, as
// abfs://container@devstoreaccount1.dfs.core.windows.net/lake (Spark
// reaches it with hadoop-azure's ABFS in the Blob endpoint mode, medallion
// through its Azure driver), and on duckdb with a local lake, over copies
// of the same landing files: bronze, silver and gold are equal after the
// first run and again after an incremental run.
func TestRunOnSparkOverADLS(t *testing.T) {
	needAzurite(t)
	remote := sparkserver.ABFSRemote(t)
	container := azuritetest.NewContainer(t)
	runOnObjectLake(t, remote, "abfs://"+container+"@devstoreaccount1.dfs.core.windows.net/lake")
}
