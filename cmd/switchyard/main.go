// Command switchyard is the gateway: `switchyard serve` runs it, the other
// subcommands manage its config and keys.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `switchyard — a self-hosted LLM API gateway

Usage:
  switchyard serve [--config FILE] [--listen ADDR]   run the gateway
  switchyard config check FILE                        validate a config file
  switchyard keys create [--name N] [--kind api|management] [--account ID] [--key PLAINTEXT]
                         [--limit USD] [--limit-reset daily|weekly|monthly]
                         [--expires RFC3339] [--allowed-models a,b]
  switchyard keys list
  switchyard keys disable|enable|delete HASH
  switchyard keys verify KEY                         check a sk-sy-v1- key's checksum (offline)
  switchyard accounts create --name N [--credits USD|--unmetered]
  switchyard accounts list
  switchyard accounts topup ID AMOUNT [--memo M]
  switchyard accounts set ID [--credits USD|--unmetered] [--name N]
  switchyard secrets rotate [--old-key-file FILE]   re-encrypt stored provider keys from
                                                      $SWITCHYARD_SECRET_KEY_OLD to $SWITCHYARD_SECRET_KEY
  switchyard bench [--quick] [--duration D] [--rate R] [--streams 100,1000,5000] [--json FILE]
                                                      load benchmark: upstream vs proxy vs gateway
  switchyard version

Without --config the gateway runs on embedded defaults: SQLite in the working
directory (or $SWITCHYARD_DATA) and the built-in mock provider unless a
provider key such as OPENAI_API_KEY is set. The keys and accounts commands
take --config and --json too; they work on the database directly. A running
gateway picks up their changes to keys and accounts within 5 seconds.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv))
}

// run is main without the process: testable, and the only place that reads
// the environment (through env).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stdout, stderr, env)
	case "config":
		err = cmdConfig(args[1:], stdout, env)
	case "keys":
		err = cmdKeys(ctx, args[1:], stdout, env)
	case "accounts":
		err = cmdAccounts(ctx, args[1:], stdout, env)
	case "secrets":
		err = cmdSecrets(ctx, args[1:], stdout, env)
	case "bench":
		err = cmdBench(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "switchyard", version)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "switchyard: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "switchyard:", err)
		return 1
	}
	return 0
}
