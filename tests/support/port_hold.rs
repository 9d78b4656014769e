//! Keeping a loopback port from other tests while nobody listens on it.

/// A loopback port kept bound without listening. Connecting to it is refused,
/// and the kernel hands it to no server that asks for any free port (`-p 0`),
/// yet a server that asks for it by number may still take it: both sides set
/// `SO_REUSEADDR`, which allows that as long as this socket never listens.
pub struct PortHold {
    /// Closed, and the port released, when the hold is dropped.
    _socket: std::os::fd::OwnedFd,
}

impl PortHold {
    /// Holds `port` on 127.0.0.1; panics if another socket already has it.
    pub fn new(port: u16) -> PortHold {
        use std::os::fd::FromRawFd;
        // SAFETY: plain socket calls on a descriptor that this function owns;
        // every pointer passed points at a live value of the size given.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let hold = PortHold {
                _socket: std::os::fd::OwnedFd::from_raw_fd(fd),
            };
            let on: libc::c_int = 1;
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
            let mut address: libc::sockaddr_in = std::mem::zeroed();
            address.sin_family = libc::AF_INET as libc::sa_family_t;
            address.sin_port = port.to_be();
            address.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let bound = libc::bind(
                fd,
                (&address as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            );
            assert_eq!(
                bound,
                0,
                "holding port {port}: {}",
                std::io::Error::last_os_error()
            );
            hold
        }
    }
}
