# unframe.awk — the testbed's results channel (the guest's ttyS1, a file on the host) back into
# files. The guest (scripts/testbed/guest/lib.sh) writes:
#   @@TESTBED BOOTED <release>
#   @@TESTBED FILE <name> <bytes>  / base64 lines /  @@TESTBED END <name>
#   @@TESTBED MISSING <name>
#   @@TESTBED EXIT <status>
#   awk -v out=DIR -f unframe.awk CHANNEL      prints the EXIT status ("" when there was none)
# Only a complete FILE…END block becomes DIR/<name>, and only when its decoded size is the one
# the header announced: a guest killed mid-file leaves nothing half-written, and a damaged block
# is reported on stderr with its name, not kept. A name with a '/' or starting with '.' is
# refused (the guest names files, it does not choose where they go on the host).
function bad(msg) { print "unframe: " msg > "/dev/stderr" }
{ sub(/\r$/, "") }
/^@@TESTBED FILE / {
	if (inb) bad("file " name " has no END: dropped")
	name = $3; want = $4; inb = 1
	if (name == "" || name ~ /\// || name ~ /^\./ || want !~ /^[0-9]+$/) {
		bad("malformed FILE line '" $0 "': block ignored"); inb = 0; next
	}
	tmp = out "/." name ".b64"; printf "" > tmp
	next
}
/^@@TESTBED END / {
	if (!inb || $3 != name) { bad("END " $3 " without its FILE line: ignored"); next }
	close(tmp); inb = 0
	cmd = "base64 -d \"" tmp "\" > \"" out "/." name ".part\" 2>/dev/null && " \
	      "wc -c < \"" out "/." name ".part\""
	got = ""; cmd | getline got; close(cmd)
	if (got + 0 == want + 0 && got != "")
		system("mv \"" out "/." name ".part\" \"" out "/" name "\"")
	else {
		bad("file " name ": " want " bytes announced, " (got == "" ? "undecodable" : got " decoded") \
		    ": dropped")
		system("rm -f \"" out "/." name ".part\"")
	}
	system("rm -f \"" tmp "\"")
	next
}
/^@@TESTBED EXIT / { st = $3; next }
/^@@TESTBED / { next }
inb { print >> tmp }
END {
	if (inb) { bad("file " name " has no END (the guest stopped mid-file): dropped")
		   system("rm -f \"" tmp "\"") }
	print st
}
