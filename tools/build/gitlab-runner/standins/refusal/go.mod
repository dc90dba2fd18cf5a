module gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal

go 1.26.6
