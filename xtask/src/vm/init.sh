#!/bin/sh
# /init of the test guests: mounts what the end-to-end tests need, runs
# each test binary in /tests one test at a time, prints one marker line per
# binary and a summary line for the host, and powers off.
#
# The kernel passes the command line's nstrace_kernel=VERSION to this
# script as an environment variable.

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
export NSTRACE_BIN=/usr/bin/nstrace
export RUST_BACKTRACE=1
kernel=${nstrace_kernel:-unknown}

# The initramfs unpacks into rootfs, which pivot_root refuses to move
# (EINVAL). A copy on a tmpfs becomes the root, so that the tests can
# pivot_root as on an installed system. /init runs again from there.
if [ -z "$nstrace_on_tmpfs" ]; then
    mkdir /newroot
    if mount -t tmpfs -o mode=0755 root /newroot; then
        for entry in /*; do
            [ "$entry" = /newroot ] || cp -a "$entry" /newroot/
        done
        export nstrace_on_tmpfs=1
        exec switch_root /newroot /init
    fi
    echo "NSTRACE-GUEST-ERROR mounting a tmpfs root failed; staying on rootfs"
fi

mount_or_report() {
    mount -t "$1" "$2" "$3" || echo "NSTRACE-GUEST-ERROR mounting $1 on $3 failed"
}

# devtmpfs first: every redirection to /dev/null needs it.
mount_or_report devtmpfs dev /dev
mount_or_report proc proc /proc
mount_or_report sysfs sysfs /sys
mount_or_report tracefs tracefs /sys/kernel/tracing
mount_or_report bpf bpf /sys/fs/bpf
# /tmp stays on the root filesystem, which is in RAM already, because the
# helper binary sits at its host path and that may be under /tmp.
chmod 1777 /tmp
ip link set lo up 2>/dev/null
hostname nstrace-guest

echo "NSTRACE-GUEST-START kernel=$kernel release=$(uname -r)"

passed=0
failed=0
for binary in /tests/*; do
    name=${binary##*/}
    log=/tmp/$name.log
    echo "NSTRACE-GUEST-BINARY-START name=$name"
    # The status goes through a file because a pipeline's status is that of
    # its last command, tee.
    { "$binary" --test-threads=1 2>&1; echo $? >/tmp/status; } | tee "$log"
    status=$(cat /tmp/status)

    summary=$(grep '^test result:' "$log" | tail -n 1)
    binary_passed=$(echo "$summary" | sed -n 's/.* \([0-9][0-9]*\) passed.*/\1/p')
    binary_failed=$(echo "$summary" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
    binary_ignored=$(echo "$summary" | sed -n 's/.* \([0-9][0-9]*\) ignored.*/\1/p')
    binary_passed=${binary_passed:-0}
    # An ignored test did not run here, so it counts as failed.
    binary_failed=$((${binary_failed:-0} + ${binary_ignored:-0}))
    # A binary that crashed before its summary, or that exited non-zero
    # with no failed test, counts as one failure.
    if [ -z "$summary" ] || { [ "$status" != 0 ] && [ "$binary_failed" = 0 ]; }; then
        binary_failed=$((binary_failed + 1))
    fi
    echo "NSTRACE-GUEST-BINARY name=$name status=$status passed=$binary_passed failed=$binary_failed ignored=${binary_ignored:-0}"
    passed=$((passed + binary_passed))
    failed=$((failed + binary_failed))
done

echo "NSTRACE-GUEST-RESULT kernel=$kernel passed=$passed failed=$failed"
sync
poweroff -f
