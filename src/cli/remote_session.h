// The remote commands' connection to a pgshift server: the URL from --server, the token from
// the file --token-file (or PGSHIFT_TOKEN_FILE) names, the CA from --ca-file. Failures end
// the command (CommandFailed) with the shared exit codes.
#pragma once

#include "cli/command.h"
#include "server_client/server_client.h"

namespace pgshift::cli {

// Throws CommandFailed (exit 2) for a bad URL or an unreadable token file. Warnings (a token
// file others may read) go to stderr.
ServerClient ConnectToServer(const GlobalOptions& global);

// Ends the command with a failed API call: its exit code from ExitCodeFor (1 for a server
// that cannot be reached), with advice added to an unauthenticated answer.
[[noreturn]] void FailApiCall(const Status& status);

// The answer of a call, or the end of the command.
ApiAnswer OrFailApi(Result<ApiAnswer> answer);

}  // namespace pgshift::cli
