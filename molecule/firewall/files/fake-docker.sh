#!/bin/sh
# Simulates what Docker does for `docker run -p 8088:80 -p 8089:80`: a container (network
# namespace) behind a veth pair, DNAT of the published ports in iptables' nat table, and
# FORWARD jumping to DOCKER-USER first. Published traffic is forwarded, never "input",
# which is why host firewalls that only filter input do not protect it.
set -eu
ip netns list | grep -q '^ctr' || ip netns add ctr
if ! ip link show veth-host >/dev/null 2>&1; then
  ip link add veth-host type veth peer name veth-ctr
  ip link set veth-ctr netns ctr
  ip addr add 172.31.250.1/24 dev veth-host
  ip link set veth-host up
  ip netns exec ctr ip addr add 172.31.250.2/24 dev veth-ctr
  ip netns exec ctr ip link set veth-ctr up
  ip netns exec ctr ip link set lo up
  ip netns exec ctr ip route add default via 172.31.250.1
fi
iptables -w -n -L DOCKER-USER >/dev/null 2>&1 || iptables -w -N DOCKER-USER
iptables -w -C FORWARD -j DOCKER-USER 2>/dev/null || iptables -w -I FORWARD -j DOCKER-USER
for port in 8088 8089; do
  iptables -w -t nat -C PREROUTING -p tcp --dport "$port" -j DNAT --to-destination 172.31.250.2:80 2>/dev/null \
    || iptables -w -t nat -A PREROUTING -p tcp --dport "$port" -j DNAT --to-destination 172.31.250.2:80
done
exec ip netns exec ctr /usr/bin/python3 /usr/local/bin/lab-listen 80
