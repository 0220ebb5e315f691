# Install rules and the Debian package (CPack's DEB generator).
# Build the package from a build folder configured for /usr:
#   cmake -S . -B build-deb -G Ninja -DCMAKE_BUILD_TYPE=Release \
#         -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON
#   cmake --build build-deb --target imapfront imapfront_man
#   (cd build-deb && cpack -G DEB)      # imapfront_<version>_<arch>.deb
# With the prefix /usr the configuration goes to /etc/imapfront (GNUInstallDirs).
include(GNUInstallDirs)

set(IMAPFRONT_CONFIG_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/imapfront")
set(IMAPFRONT_BIN "${CMAKE_INSTALL_FULL_BINDIR}/imapfront")
set(IMAPFRONT_CONFIG "${IMAPFRONT_CONFIG_DIR}/imapfront.yaml")
set(IMAPFRONT_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "Where the systemd unit goes, relative to the install prefix")

install(TARGETS imapfront RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES deploy/debian/imapfront.yaml DESTINATION ${IMAPFRONT_CONFIG_DIR})
install(FILES deploy/imapfront.example.yaml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES README.md docs/configuration.md docs/operations.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY deploy/monitoring/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/monitoring)

configure_file(deploy/debian/imapfront.service.in imapfront.service @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/imapfront.service DESTINATION ${IMAPFRONT_SYSTEMD_UNIT_DIR})

# Man pages with the project's version in their footer, compressed as Debian
# wants them (gzip -9n: no name, no time).
set(IMAPFRONT_MAN_PAGES imapfront.8 imapfront.yaml.5)
set(man_outputs)
foreach(page ${IMAPFRONT_MAN_PAGES})
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  configure_file(docs/man/${page} man/${page} @ONLY)
  set(output ${CMAKE_CURRENT_BINARY_DIR}/man/${page}.gz)
  add_custom_command(OUTPUT ${output}
                     COMMAND gzip -9n -c ${CMAKE_CURRENT_BINARY_DIR}/man/${page} > ${output}
                     DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/man/${page} VERBATIM)
  install(FILES ${output} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  list(APPEND man_outputs ${output})
endforeach()
add_custom_target(imapfront_man ALL DEPENDS ${man_outputs})

set(CPACK_PACKAGE_NAME imapfront)
set(CPACK_PACKAGE_VENDOR "imapfront")
set(CPACK_PACKAGE_CONTACT "imapfront maintainers <imapfront@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "IMAP reverse proxy and front-end router")
set(CPACK_PACKAGE_DESCRIPTION
    "imapfront terminates IMAP client connections, routes each user to the\n\
Dovecot or Cyrus backend that serves it (by virtual domain, account or\n\
profile) and relays the session. It implements VHOST and the multi-account\n\
LISTA/SELECTA commands itself. This package ships the daemon, a systemd\n\
unit and an example configuration in /etc/imapfront.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # imapfront_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps names the libraries (libuv1, libssl3, libyaml-cpp0.7, ...);
# adduser makes the system user in postinst; procps has the /bin/kill of
# the unit's ExecReload.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
