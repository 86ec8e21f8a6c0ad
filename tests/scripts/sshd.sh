# Sourced by the benchmark and demo scripts: starts a throwaway OpenSSH sshd on
# a free loopback port, with its own host key, config and client key.
#
#   start_sshd <dir> [extra authorized_keys file]
#
# Sets SSHD_PORT, SSHD_PID and SSHD_CLIENT_KEY; the server logs to <dir>/sshd.log.
# Stop it with `kill "$SSHD_PID"`.
start_sshd() {
  local dir=$1 extra=${2:-}
  [ -x /usr/sbin/sshd ] || { echo "sshd is required (apt-get install openssh-server)"; return 1; }
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && mkdir -p /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
  cp "$dir/client_key.pub" "$dir/authorized_keys"
  [ -n "$extra" ] && touch "$extra"
  SSHD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$dir/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $SSHD_PORT
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys $extra
PidFile $dir/sshd.pid
UsePAM no
StrictModes no
PermitRootLogin yes
PasswordAuthentication no
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
  /usr/sbin/sshd -D -e -f "$dir/sshd_config" 2>"$dir/sshd.log" &
  SSHD_PID=$!
  SSHD_CLIENT_KEY="$dir/client_key"
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "sshd did not start:"; cat "$dir/sshd.log"; return 1
}
