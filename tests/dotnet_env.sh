# Sourced by every script that runs the .NET SDK, so that no run depends on
# this machine's history: HOME and the SDK's home are the caller's own
# folder (no first-run state, key rings, templates or caches of earlier
# runs), the NuGet packages live in the build folder (restored from NuGet on
# a clean clone, reused after), temporary files go to HOME_DIR/tmp (the
# test runner and the coverage collector leave folders behind in TMPDIR, and
# the runtime keeps state in TMPDIR/.dotnet; a TMPDIR too long for a socket's
# path only turns the runtime's diagnostic port off), and the SDK prints no
# banner or telemetry notice.  usage: . tests/dotnet_env.sh HOME_DIR BUILD_DIR
export HOME=${1:?usage: . tests/dotnet_env.sh HOME_DIR BUILD_DIR} DOTNET_CLI_HOME=$1 TMPDIR=$1/tmp
export NUGET_PACKAGES=${MM_NUGET_PACKAGES:-${2:?usage: . tests/dotnet_env.sh HOME_DIR BUILD_DIR}/nuget-packages}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
mkdir -p "$HOME" "$TMPDIR" "$NUGET_PACKAGES"
NUGET_PACKAGES=$(cd "$NUGET_PACKAGES" && pwd)
